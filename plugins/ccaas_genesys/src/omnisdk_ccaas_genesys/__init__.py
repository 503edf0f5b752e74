"""omnisdk CCaaS connector for Genesys Cloud CX: our email and messaging interactions are routed
by Genesys Cloud's ACD, and its conversation events come back as ``io.omnisdk.routing.*``.

- :mod:`.settings`: the account (region, OAuth client, mappings, webhook secret);
- :mod:`.requests`: the Platform API request bodies, one function per documented schema;
- :mod:`.events`: the webhook (signature check, detail events → routing events; pure);
- :mod:`.connector`: :class:`GenesysCloudConnector`, the route / transfer / park / wrap-up /
  disconnect calls.
"""

from omnisdk_ccaas_genesys.connector import GenesysCloudConnector
from omnisdk_ccaas_genesys.settings import GenesysSettings

__all__ = ["GenesysCloudConnector", "GenesysSettings"]
