from django.urls import path

from . import webhooks

app_name = "messaging"

urlpatterns = [
    path("webhooks/twilio/sms/", webhooks.inbound_sms, name="twilio-sms"),
    path("webhooks/twilio/status/", webhooks.delivery_status, name="twilio-status"),
]
