"""What the operator API and the native customer API both do: request bodies, query parameters
and handler bodies that take the customer as an argument (from the path for the operator, from
the access key for the customer)."""
