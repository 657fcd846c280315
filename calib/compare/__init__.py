"""Results of several runs side by side: alignment by configuration, ratios with CIs, environment differences."""
