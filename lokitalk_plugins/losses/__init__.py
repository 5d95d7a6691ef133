"""Pure loss functions, each with its paper equation and shapes in the docstring."""
