"""The arrears lifecycle: grace -> frozen -> released, undone by paying the debt."""
