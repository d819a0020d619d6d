"""The sidecar image: the patched daprd that every test ran, as an OCI image a cluster can pull.

    .venv/bin/python -m devstack.sidecar_image [--load]

writes the image as an OCI archive beside the Dapr build in the user's cache
(~/.cache/customer-service/dapr-runtime/<recipe>/daprd-image.oci.tar), prints its manifest digest, and
with --load hands it to podman or docker if one runs here. k8s/deployment.yaml names the image by that
digest (dapr.io/sidecar-image); tests/manifests/test_sidecar_image.py builds it again from the daprd
the e2e tier ran and checks the digest, so the manifest cannot name a daprd the tests did not run.

Reproducible by construction, with no base image to pull and no tool to install: `FROM scratch` in
effect, one uncompressed layer written here with fixed times, owners and order, holding the static
daprd (tools/dapr-runtime/build.sh: pinned module, -trimpath) and the CA certificates of the locked
certifi package (not the machine's, which change with its updates). It runs as 65532, as Dapr's own
images do.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import certifi

from devstack.stack import dapr_bin_dir

REPOSITORY = "registry.example.com/customer-service/daprd"
NONROOT = 65532
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


@dataclass(frozen=True)
class SidecarImage:
    archive: Path
    digest: str  # the manifest's: what a registry and a pod spec name it by
    daprd_sha256: str
    size: int  # bytes of the layer

    @property
    def reference(self) -> str:
        return f"{REPOSITORY}@{self.digest}"


def _entry(name: str, data: bytes, mode: int) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info, data


def _directory(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
    return info


def layer(daprd: bytes, ca_certificates: bytes) -> bytes:
    """The image's one layer: /daprd and /etc/ssl/certs/ca-certificates.crt, byte for byte the same for
    the same inputs."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for directory in ("etc/", "etc/ssl/", "etc/ssl/certs/"):
            tar.addfile(_directory(directory))
        for info, data in (_entry("daprd", daprd, 0o755),
                           _entry("etc/ssl/certs/ca-certificates.crt", ca_certificates, 0o644)):
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _descriptor(media_type: str, blob: bytes) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": "sha256:" + hashlib.sha256(blob).hexdigest(), "size": len(blob)}


def build(*, daprd: Path, out: Path, tag: str) -> SidecarImage:
    daprd_bytes = daprd.read_bytes()
    layer_blob = layer(daprd_bytes, Path(certifi.where()).read_bytes())
    config = _json({
        "architecture": "amd64", "os": "linux",
        "config": {"User": f"{NONROOT}:{NONROOT}", "Entrypoint": ["/daprd"],
                   "Env": ["SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_blob).hexdigest()]},
    })
    manifest = _json({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": _descriptor(OCI_CONFIG, config),
                      "layers": [_descriptor(OCI_LAYER, layer_blob)]})
    manifest_descriptor = {**_descriptor(OCI_MANIFEST, manifest),
                           "annotations": {"org.opencontainers.image.ref.name": tag}}
    files = {"oci-layout": _json({"imageLayoutVersion": "1.0.0"}),
             "index.json": _json({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                                  "manifests": [manifest_descriptor]})}
    for blob in (layer_blob, config, manifest):
        files[f"blobs/sha256/{hashlib.sha256(blob).hexdigest()}"] = blob
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for directory in ("blobs/", "blobs/sha256/"):
            tar.addfile(_directory(directory))
        for name in sorted(files):
            info, data = _entry(name, files[name], 0o644)
            tar.addfile(info, io.BytesIO(data))
    return SidecarImage(archive=out, digest=manifest_descriptor["digest"],
                        daprd_sha256=hashlib.sha256(daprd_bytes).hexdigest(), size=len(layer_blob))


def build_tested() -> SidecarImage:
    """The image of the daprd the test tiers run (the cached, patched build)."""
    bin_dir = dapr_bin_dir()
    version = subprocess.run([str(bin_dir / "daprd"), "--version"], capture_output=True, text=True,  # noqa: S603
                             check=True).stdout.strip()
    return build(daprd=bin_dir / "daprd", out=bin_dir.parent / "daprd-image.oci.tar", tag=version)


def load(image: SidecarImage) -> str:
    """Hands the archive to a container engine that runs here, if there is one."""
    for engine in ("podman", "docker"):
        path = shutil.which(engine)
        if path is None:
            continue
        loaded = subprocess.run([path, "load", "-i", str(image.archive)], capture_output=True, text=True,  # noqa: S603
                                check=False)
        if loaded.returncode == 0:
            return f"loaded into {engine}: {loaded.stdout.strip()}"
        return f"{engine} did not load it: {(loaded.stderr or loaded.stdout).strip()}"
    return "no podman or docker here: push the archive with skopeo or crane"


def main() -> None:
    parser = argparse.ArgumentParser(prog="devstack.sidecar_image")
    parser.add_argument("--load", action="store_true", help="load it into podman or docker, if one runs here")
    args = parser.parse_args()
    image = build_tested()
    print(f"{image.reference}\narchive: {image.archive} (layer {image.size / 1e6:.1f} MB)\n"
          f"daprd sha256: {image.daprd_sha256}")
    if args.load:
        print(load(image))


if __name__ == "__main__":
    main()
