def test_it_serves_health_and_runs_code(live_site):
    assert live_site.browser().get("/healthz").status == 200
    assert live_site.run("from tasks.models import Batch\nresult = Batch.objects.count()") == 0
