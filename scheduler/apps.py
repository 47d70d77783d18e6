from django.apps import AppConfig


class SchedulerConfig(AppConfig):
    name = "scheduler"
    verbose_name = "Accounts and users"

    def ready(self) -> None:
        from scheduler import signals  # noqa: F401  (connects receivers)
