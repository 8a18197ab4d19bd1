def test_it_serves_health_and_runs_code(live_site):
    assert live_site.browser().get("/healthz").status == 200
    # The site is shared by the whole session: what other tests stored is there, so check the engine instead.
    assert live_site.run("from django.db import connection\nresult = connection.vendor") == "postgresql"
