"""The estate: IAM Identity Center (login, tokens, discovery of every account and role),
Organizations discovery for the catalog, console sign-in (federation) and long-lived IAM
user keys in the keyring."""
