from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM"

    def ready(self) -> None:
        from calendars.signals import events_changed, task_sync_changed, write_completed
        from crm import receivers

        events_changed.connect(receivers.on_events_changed, dispatch_uid="crm.events_changed")
        write_completed.connect(receivers.on_write_completed, dispatch_uid="crm.write_completed")
        task_sync_changed.connect(
            receivers.on_task_sync_changed, dispatch_uid="crm.task_sync_changed"
        )
