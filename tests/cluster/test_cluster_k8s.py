"""docs/kubernetes/distnet-job.yaml runs as written: every pod of its Jobs becomes a host
of the virtual cluster (its own address; the headless Service's name resolving to the
scheduler pod, as cluster DNS does) running the container's command with exactly the
variables the manifest sets (secretKeyRef and the completion-index fieldRef resolved as
Kubernetes does), PATH and HOME. No launcher is involved."""

import os
import subprocess
import sys

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is in the test extra (pip install -e '.[test]')")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MANIFEST = os.path.join(REPO, "docs", "kubernetes", "distnet-job.yaml")
_INDEX = "metadata.annotations['batch.kubernetes.io/job-completion-index']"
_REASON = netns.available()
pytestmark = [
    pytest.mark.skipif(_REASON is not None, reason=str(_REASON)),
    pytest.mark.timeout(120),
]


def _docs():
    with open(MANIFEST, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def _pod_env(entries, index, secrets):
    """A container's variables from its `env` list, resolved as the kubelet does."""
    env = {}
    for e in entries:
        if "value" in e:
            env[e["name"]] = str(e["value"])
            continue
        ref = e["valueFrom"]
        if "secretKeyRef" in ref:
            env[e["name"]] = secrets[ref["secretKeyRef"]["name"]][ref["secretKeyRef"]["key"]]
        else:
            assert ref["fieldRef"]["fieldPath"] == _INDEX, ref
            assert index is not None, f"{e['name']}: completion index outside an Indexed Job"
            env[e["name"]] = str(index)
    return env


def _pods():
    """[(pod name, command, env)] of every Job's pods, the scheduler first."""
    secrets = {"distnet-demo-token": {"token": "0123456789abcdef0123456789abcdef"}}
    pods = []
    for doc in _docs():
        if doc["kind"] != "Job":
            continue
        spec = doc["spec"]
        indexed = spec.get("completionMode") == "Indexed"
        (container,) = spec["template"]["spec"]["containers"]
        assert spec["template"]["spec"]["restartPolicy"] == "Never"
        for i in range(spec.get("completions", 1)):
            env = _pod_env(container["env"], i if indexed else None, secrets)
            cmd = [sys.executable if c == "python" else c for c in container["command"]]
            pods.append((f"{doc['metadata']['name']}-{i}", cmd, env))
    return pods


def test_manifest_is_consistent():
    docs = _docs()
    (svc,) = [d for d in docs if d["kind"] == "Service"]
    pods = _pods()
    roles = [env["DMLC_ROLE"] for _, _, env in pods]
    assert roles == ["scheduler", "server", "server", "worker", "worker"]
    for _, _, env in pods:  # every pod agrees on the job's shape and the scheduler
        assert env["DMLC_PS_ROOT_URI"] == svc["metadata"]["name"]
        assert env["DMLC_PS_ROOT_PORT"] == str(svc["spec"]["ports"][0]["port"])
        assert (env["DMLC_NUM_WORKER"], env["DMLC_NUM_SERVER"]) == ("2", "2")
    assert [env.get("DMLC_SERVER_ID") for _, _, env in pods[1:3]] == ["0", "1"]
    assert [env.get("DMLC_WORKER_ID") for _, _, env in pods[3:]] == ["0", "1"]
    assert svc["spec"]["clusterIP"] == "None"  # the scheduler binds the name it resolves


def test_every_role_runs_with_exactly_the_manifests_variables(tmp_path):
    pods = _pods()
    svc = pods[0][2]["DMLC_PS_ROOT_URI"]
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    with netns.Cluster(len(pods), sshd=False, names={svc: 0}) as cluster:
        procs = [
            subprocess.Popen(
                cluster.argv(i, cmd),
                env={**base, **env},
                cwd=tmp_path,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for i, (_, cmd, env) in enumerate(pods)
        ]
        try:
            outs = [p.communicate(timeout=100)[0] for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        for (name, _, _), p, out in zip(pods, procs, outs):
            assert p.returncode == 0, f"{name}:\n{out[-3000:]}"
        acc = [
            float(line.rsplit("=", 1)[1])
            for out in outs[3:]
            for line in out.splitlines()
            if "Test-accuracy=" in line
        ]
        assert len(acc) == 2 and acc[0] == acc[1] >= 0.95, acc
        for s in (0, 1):  # each server bound its own pod's address
            assert f"server {s} (tcp://{cluster.addrs[1 + s]}:" in outs[1 + s], outs[1 + s]
