from django.urls import path

from . import crew, views, workers_pages

app_name = "web"

urlpatterns = [
    path("", views.landing, name="home"),
    path("language/", views.language, name="language"),
    path("board/", views.board, name="board"),
    path("recruit/", views.intake, name="intake"),
    path("ratings/rules/", views.rating_rules, name="rating-rules"),
    path("phone/", views.phone_simulator, name="phone"),
    path("crew/", crew.crew_orders, name="crew"),
    path("crew/<int:order_id>/", crew.crew_order, name="crew-order"),
    path("workers/", workers_pages.workers, name="workers"),
    path("workers/<int:worker_id>/", workers_pages.worker, name="worker"),
    path("workers/<int:worker_id>/interview/", workers_pages.worker_interview_record,
         name="worker-interview"),
    path("workers/<int:worker_id>/photo/", workers_pages.worker_photo, name="worker-photo"),
    path("workers/<int:worker_id>/photo/upload/", workers_pages.worker_photo_upload,
         name="worker-photo-upload"),
    path("workers/<int:worker_id>/appeals/<int:appeal_id>/decide/",
         workers_pages.worker_appeal_decide, name="worker-appeal-decide"),
]
