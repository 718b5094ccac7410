"""The built-in recognizers, one module per family of identifiers."""
