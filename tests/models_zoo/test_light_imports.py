import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relabel.settings")
import django
django.setup()
import models_zoo.chunks, models_zoo.tasks, models_zoo.inference, models_zoo.weights
from django.core.management import call_command
call_command("check")
call_command("list_models")
print("HEAVY", sorted(m for m in ("torch", "timm", "torchvision") if m in sys.modules))
"""


def test_it_keeps_torch_and_timm_out_of_web_processes(tmp_path):
    env = {"RELABEL_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout
