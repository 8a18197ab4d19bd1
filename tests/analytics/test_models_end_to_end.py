"""Three models' predictions imported (JSONL, CSV, .npy), judged against answers imported and
aggregated here; the same figures read from the command, the REST API and the Models page."""

import io
import json
import re

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client

from tests.factories import DatasetFactory, LabelClassFactory, UserFactory

pytestmark = pytest.mark.django_db
IMAGES = [f"i{n}" for n in range(6)]  # original label n; label n + 5 is also in the picture for i0-i2


def write(path, rows) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


@pytest.fixture
def judged_dataset(tmp_path):
    for index in range(11):
        LabelClassFactory(index=index)
    DatasetFactory(name="e2e")
    contains = [
        {"image": image, "original_label": n, "label": label, "worker": f"W{w}", "selected": w < selected}
        for n, image in enumerate(IMAGES)
        for label, selected in ((n, 4), (n + 5, 3 if n < 3 else 0))
        for w in range(5)
    ]
    classify = [
        {"image": image, "original_label": n, "worker": f"W{w}", "selected": [n, n + 5], "main": n + 5 if w < 3 else n}
        for n, image in enumerate(IMAGES[:3]) for w in range(5)
    ]
    for task, rows in (("contains", contains), ("classify", classify)):
        call_command("import_responses", "--dataset", "e2e", "--task", task, write(tmp_path / f"{task}.jsonl", rows),
                     "--create-missing-images")
    call_command("aggregate", "--dataset", "e2e", "--min-workers", "5")
    return tmp_path


def import_three_models(folder):
    call_command("import_predictions", "--dataset", "e2e", "--model", "alpha", write(folder / "alpha.jsonl", [
        {"image": image, "labels": [n, 10], "probs": [0.9, 0.1]} for n, image in enumerate(IMAGES)
    ]))
    (folder / "beta.csv").write_text("image,labels\n" + "".join(
        f"{image},{n + 5 if n < 2 else n} {n if n < 2 else 10}\n" for n, image in enumerate(IMAGES)
    ))
    call_command("import_predictions", "--dataset", "e2e", "--model", "beta", str(folder / "beta.csv"))
    np.save(folder / "gamma.npy", np.array([[10, 9]] * 5 + [[5, 0]]))
    (folder / "order.txt").write_text("\n".join(IMAGES) + "\n")
    call_command("import_predictions", "--dataset", "e2e", "--model", "gamma", str(folder / "gamma.npy"),
                 "--order", str(folder / "order.txt"))


def test_it_reads_the_same_figures_from_the_command_the_api_and_the_page(judged_dataset):
    import_three_models(judged_dataset)
    out = io.StringIO()
    call_command("evaluate_models", "--dataset", "e2e", "--format", "json", stdout=out)
    from_command = json.loads(out.getvalue())
    figures = {m["model"]: m["figures"] for m in from_command["models"]}
    # By hand: alpha always right; beta wrong (its main label) on i0, i1; gamma right on i5 only.
    assert [figures[m]["top1"]["value"] for m in ("alpha", "beta", "gamma")] == [1.0, 4 / 6, 1 / 6]
    assert [figures[m]["main_label"]["value"] for m in ("alpha", "beta", "gamma")] == [0.0, 2 / 3, 0.0]
    assert [figures[m]["multilabel"]["value"] for m in ("alpha", "beta", "gamma")] == [1.0, 1.0, 0.0]
    assert figures["alpha"]["sf_top1"]["value"] == pytest.approx(0.8)
    assert {m["model"]: m["origin"] for m in from_command["models"]} == dict.fromkeys(("alpha", "beta", "gamma"),
                                                                                       "imported")
    table = io.StringIO()
    call_command("evaluate_models", "--dataset", "e2e", stdout=table)
    assert re.search(r"^alpha\s+6\s+1\.000 \[1\.000, 1\.000\]", table.getvalue(), re.M)
    assert "3 CLASSIFY results: 0 with tied objects, 0 with a tied main label" in table.getvalue()
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    from_api = client.get("/api/v1/datasets/e2e/models/").json()
    assert from_api == from_command
    page = client.get("/dashboard/e2e/models/").content.decode()
    for model in from_command["models"]:
        row = re.search(rf"<tr><td>{model['model']}</td>.*?</tr>", page, re.S).group(0)
        top1 = model["figures"]["top1"]
        assert f"{top1['value']:.3f}<br><span class=\"ci\">[{top1['low']:.3f}, {top1['high']:.3f}] n=6" in row
    # One plot per figure; top1_single is drawn empty: every CLASSIFY image here shows two objects.
    assert page.count('class="vega-chart"') == 9 and page.count('class="chart-empty"') == 1
    assert "Mean SF of the top-1 prediction" in page
    svg = client.get("/dashboard/e2e/models/", {"chart": "model-sf_top1", "format": "svg"})
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    csv_lines = client.get("/api/v1/datasets/e2e/models.csv").content.decode().splitlines()
    assert csv_lines[0].startswith("model,origin,images,top1,top1_low,top1_high,top1_n")
    assert csv_lines[2].startswith(f"beta,imported,6,{round(4 / 6, 4)},")
