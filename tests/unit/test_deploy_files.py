"""The deployment files in deploy/ are valid, and say what the README promises.

Kubernetes manifests are checked offline against the JSON schemas bundled in the PyPI
package ``kubernetes-validate`` (strict: unknown fields fail), for the oldest and newest
Kubernetes versions we claim; no cluster runs here. Then the properties that matter for
serving: probes on the right endpoints, a grace period longer than the whole drain, the
shared models volume read-only in replicas and writable only in the pull Job. The nginx
configuration must pass ``nginx -t`` once rendered.
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.support.nginx import nginx_binary, render

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
DEPLOYMENTS = ["deployment-cpu.yaml", "deployment-nvidia.yaml"]


def documents(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


def every_document() -> list[tuple[str, dict]]:
    return [(path.name, doc) for path in sorted(K8S.glob("*.yaml")) for doc in documents(path.name)]


def test_there_are_manifests():
    kinds = {doc["kind"] for _, doc in every_document()}
    assert kinds == {"Deployment", "Service", "PodDisruptionBudget", "PersistentVolumeClaim", "Job"}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("name", "doc"), every_document(), ids=lambda v: str(v)[:40])
def test_manifest_validates_against_the_kubernetes_schema(name, doc, version):
    kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_rejects_a_broken_manifest():
    broken = copy.deepcopy(documents("deployment-cpu.yaml")[0])
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"]["httpGet"]["port"] = [8000]  # not an int or a name
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)
    misspelt = copy.deepcopy(documents("deployment-cpu.yaml")[0])
    misspelt["spec"]["template"]["spec"]["terminationGracePeriod"] = 60
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, VERSIONS[-1], strict=True)


def server_container(pod: dict) -> dict:
    (container,) = [c for c in pod["containers"] if c["name"] == "mlx-serve"]
    return container


def env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_probes_drain_and_grace(name):
    (deployment,) = documents(name)
    pod = deployment["spec"]["template"]["spec"]
    container = server_container(pod)
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
    env = env_of(container)
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    drain = int(pre_stop[1]) + float(env["MLX_SERVE_DRAIN_SECONDS"])
    drain += float(env["MLX_SERVE_GRACEFUL_TIMEOUT_SECONDS"])
    assert pod["terminationGracePeriodSeconds"] > drain
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_replicas_read_the_shared_models_volume_read_only(name):
    (claim,) = documents("models-pvc.yaml")
    assert "ReadOnlyMany" in claim["spec"]["accessModes"]
    (deployment,) = documents(name)
    pod = deployment["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "models"]
    assert volume["persistentVolumeClaim"] == {
        "claimName": claim["metadata"]["name"], "readOnly": True,
    }  # fmt: skip
    for container in [*pod["initContainers"], *pod["containers"]]:
        mounts = [m for m in container["volumeMounts"] if m["name"] == "models"]
        assert mounts and all(m["readOnly"] for m in mounts), container["name"]
        assert env_of(container)["MLX_SERVE_MODELS_DIR"] == mounts[0]["mountPath"]


def test_the_pull_job_writes_the_same_volume():
    (claim,) = documents("models-pvc.yaml")
    (job,) = documents("pull-job.yaml")
    pod = job["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "models"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert not volume["persistentVolumeClaim"].get("readOnly", False)
    (container,) = pod["containers"]
    assert "mlx-serve pull" in container["args"][0]


def test_the_nvidia_variant_asks_for_one_gpu_and_the_cpu_one_for_none():
    for name, gpus in (("deployment-cpu.yaml", None), ("deployment-nvidia.yaml", "1")):
        (deployment,) = documents(name)
        container = server_container(deployment["spec"]["template"]["spec"])
        assert container["resources"]["limits"].get("nvidia.com/gpu") == gpus
        assert env_of(container)["MLX_SERVE_DEVICE"] == ("gpu" if gpus else "cpu")


def test_the_service_selects_the_replicas():
    (service, budget) = documents("service.yaml")
    (deployment,) = documents("deployment-cpu.yaml")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed (tools/test.sh)")
def test_the_nginx_configuration_passes_nginx_t(tmp_path):
    main = render([18001, 18002], 18000, tmp_path)
    result = subprocess.run(
        [nginx_binary(), "-t", "-p", str(tmp_path), "-c", str(main)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
