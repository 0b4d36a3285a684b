"""Pure building blocks shared by every stage. Standard library only."""
