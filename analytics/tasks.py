from celery import shared_task

from analytics import jobs


@shared_task
def run_job(job_id: int) -> bool:
    return jobs.execute(job_id)


@shared_task
def watch_jobs() -> int:
    """Beat task: progress, recovery and the end of the candidates jobs waiting on inference chunks."""
    return jobs.watch_jobs()
