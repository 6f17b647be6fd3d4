"""The templates the deployment tests, the demo and the fleet share.

A Redshift cluster stands for every resource whose service-linked role CloudFormation does not
create: the macro adds the role, the hook creates it before the cluster, the fleet's hooked
account deploys it with no role named.
"""

import json

WAREHOUSE_CLUSTER = {
    "Type": "AWS::Redshift::Cluster",
    "Properties": {
        "ClusterType": "single-node",
        "NodeType": "dc2.large",
        "DBName": "dev",
        "MasterUsername": "admin",
        "MasterUserPassword": "Example-Passw0rd",
    },
}


def warehouse(resources: dict | None = None, **top) -> str:
    """A template with one Redshift cluster, `Warehouse`, and no role: `resources` beside it,
    `top` as its other top-level keys (Transform, Metadata, Outputs)."""
    return json.dumps({**top, "Resources": {"Warehouse": WAREHOUSE_CLUSTER, **(resources or {})}})
