"""What a cluster runs is what the tests ran: the Deployment names its sidecar by the digest of the image
built from the very daprd binary the e2e tier starts (the patched, cached build), so the injector's stock
daprd, or a daprd built from other patches, cannot slip in unnoticed."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from functools import cache
from pathlib import Path

from devstack.sidecar_image import REPOSITORY, SidecarImage, build, build_tested
from devstack.stack import dapr_bin_dir
from tests.manifests.test_manifests import built


@cache
def sidecar_image_of_the_tests() -> SidecarImage:
    return build_tested()


def deployment_annotations() -> dict[str, str]:
    (deployment,) = [d for d in built() if d["kind"] == "Deployment"]
    annotations: dict[str, str] = deployment["spec"]["template"]["metadata"]["annotations"]
    return annotations


def test_the_deployment_names_the_image_of_the_tested_daprd_by_digest() -> None:
    assert deployment_annotations()["dapr.io/sidecar-image"] == f"{REPOSITORY}@{sidecar_image_of_the_tests().digest}", (
        "the daprd build changed (a patch, the module, the toolchain): rebuild with "
        "`python -m devstack.sidecar_image` and put its digest in k8s/deployment.yaml")


def test_the_daprd_inside_the_image_is_byte_for_byte_the_one_the_tests_ran() -> None:
    with tarfile.open(sidecar_image_of_the_tests().archive) as archive:
        index = json.load(archive.extractfile("index.json"))  # type: ignore[arg-type]
        manifest_digest = index["manifests"][0]["digest"]
        blob = archive.extractfile(f"blobs/sha256/{manifest_digest.removeprefix('sha256:')}")
        assert blob is not None
        manifest = json.load(blob)
        layer_blob = archive.extractfile(f"blobs/sha256/{manifest['layers'][0]['digest'].removeprefix('sha256:')}")
        assert layer_blob is not None
        with tarfile.open(fileobj=io.BytesIO(layer_blob.read())) as layer:
            daprd = layer.extractfile("daprd")
            assert daprd is not None
            inside = daprd.read()
    assert manifest_digest == sidecar_image_of_the_tests().digest
    assert hashlib.sha256(inside).hexdigest() == hashlib.sha256((dapr_bin_dir() / "daprd").read_bytes()).hexdigest()


def test_the_image_is_reproducible(tmp_path: Path) -> None:
    again = build(daprd=dapr_bin_dir() / "daprd", out=tmp_path / "again.oci.tar", tag="again")
    assert again.digest == sidecar_image_of_the_tests().digest
