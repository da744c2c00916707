"""The kernel: what every app may use and no app owns. Imports no app of this project."""
