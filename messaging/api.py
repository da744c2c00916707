"""Read-only API over every SMS in and out."""

from django_filters import rest_framework as filters
from rest_framework import serializers, viewsets

from core.filters import ScopedFilterSet
from franchises.api import ScopedViewSetMixin

from .models import Message


class MessageSerializer(serializers.ModelSerializer):
    raw = serializers.DictField(
        child=serializers.CharField(), read_only=True,
        help_text="Inbound: the webhook's fields that did not have their real format (a "
                  "MessageSid that is not a provider sid, a From that is neither a number nor "
                  "a sender name), as received; empty otherwise.")

    class Meta:
        model = Message
        fields = [
            "id", "direction", "phone", "body", "status", "segments", "encoding",
            "cost_estimate", "provider_sid", "error_code", "error_message", "purpose", "command",
            "worker", "order", "in_reply_to", "created_at", "sent_at", "raw",
        ]


class MessageFilter(ScopedFilterSet):
    since = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Message
        fields = ["direction", "worker", "order", "status", "phone", "purpose"]


class MessageViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Message.objects.order_by("-created_at", "-id")
    serializer_class = MessageSerializer
    filterset_class = MessageFilter
