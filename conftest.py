# The deployment tests' fixtures (LocalStack with the plugins, the function, the release), for
# tests/cloudformation and localstack-plugins/tests alike: one LocalStack per session.
pytest_plugins = ["rig.deployments"]
