"""What the Python tests and rigs share: deploying to LocalStack's CloudFormation
(localstack_cfn), CloudFormation's side of a custom resource (cfn_response), a function
scripted by its event (scripted_runtime), the function processes LocalStack's executor started
(function_processes) and the reliability report made from the Rust suites' evidence
(reliability); and the rigs that run on them: the demo (demo) and the fleet (fleet).

Imported as `rig`: scripts/workshop/rust.py puts tests/ on PYTHONPATH.
"""
