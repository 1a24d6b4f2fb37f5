"""Amazon EKS: the exec-credential token kubectl asks for on every call (a presigned STS
``GetCallerIdentity`` URL, cached in the keyring like any session), the kubeconfig entry
that asks rolecall for it, and the clusters the catalog lists for a role."""
