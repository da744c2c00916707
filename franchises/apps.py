from django.apps import AppConfig


class FranchisesConfig(AppConfig):
    name = "franchises"
    verbose_name = "Franchise network"
