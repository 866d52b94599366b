from django_tasks import task

from . import crossings


@task()
def count_notes() -> int:
    return crossings.count_every_note()
