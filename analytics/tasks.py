from celery import shared_task

from analytics import jobs


@shared_task
def run_job(job_id: int) -> bool:
    return jobs.execute(job_id)
