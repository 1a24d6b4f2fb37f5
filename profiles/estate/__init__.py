"""The estate: IAM Identity Center (login, tokens, discovery of every account and role)
and Organizations discovery for the catalog."""
