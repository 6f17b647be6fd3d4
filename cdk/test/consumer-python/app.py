# A user's Python app: the snippet of the upsert-slr construct's users, with only the import
# changed, synthesized into $CDK_OUTDIR.
import aws_cdk as cdk
from upsert_slr_cdk import ServiceLinkedRole


class Roles(cdk.Stack):
    def __init__(self, scope, id):
        super().__init__(scope, id)
        ServiceLinkedRole(self, "ECSServiceLinkedRole", aws_service_name="ecs.amazonaws.com",
                          description="Service-linked role for Amazon ECS")


app = cdk.App()
Roles(app, "UpsertSlrPython")
app.synth()
