"""collectstatic with the production storage, as the image build runs it."""

from django.core.management import call_command
from django.test import override_settings

MANIFEST = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


def test_collectstatic_with_the_manifest_storage_succeeds(tmp_path):
    # The manifest storage follows every url() and sourceMappingURL in CSS and JS and fails on
    # a missing target: that would break `docker build`, not a test, without this check.
    with override_settings(STORAGES=MANIFEST, STATIC_ROOT=tmp_path):
        call_command("collectstatic", "--noinput", verbosity=0)

    assert (tmp_path / "vendor" / "chartjs" / "chart.umd.min.js").exists()
    assert (tmp_path / "js" / "cost-chart.js.gz").exists()
    assert (tmp_path / "staticfiles.json").exists()
