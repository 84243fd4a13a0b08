"""The HTTP side of a Maintenance's ``spec.hooks`` (the Job side is ``clients.kube.jobs``)."""
