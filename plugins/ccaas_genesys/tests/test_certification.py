from __future__ import annotations

from omnisdk_ccaas_genesys.certification import GenesysCloudSuite


class TestGenesysCloudCertification(GenesysCloudSuite):
    pass
