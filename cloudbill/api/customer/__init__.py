"""The native customer API (`/customer/v1`): everything a customer sees in the billing center,
scoped to the customer of the calling access key."""
