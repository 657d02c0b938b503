"""GitHub's documented limits that factory-sync lives within, each written once."""

BODY_LIMIT = 65_536  # characters in an issue body
LABEL_NAME_LIMIT = 50  # characters in a label's name
LABEL_DESCRIPTION_LIMIT = 100  # characters in a label's description
ISSUE_LABEL_LIMIT = 100  # labels on one issue
OWNER_NAME_LIMIT = 39  # characters in an account's login
REPO_NAME_LIMIT = 100  # characters in a repository's name
EVENT_TYPE_LIMIT = 100  # characters in a repository_dispatch event type
NARROW_LIMIT = 500  # repositories an installation token can be narrowed to
GRAPHQL_NODE_LIMIT = 500_000  # nodes one GraphQL query may ask for
PAGE_LIMIT = 100  # items on one page: REST's per_page, a GraphQL connection's first
CONTENT_WRITES_PER_HOUR = 500  # content-creating requests of one App installation (secondary limit)
EVENT_PAYLOAD_LIMIT = 25 * 1024 * 1024  # bytes in a webhook payload
