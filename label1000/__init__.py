"""The 1000-way labeling study end to end (after Russakovsky et al. 2015): HITs, page, exemplars,
import, human-vs-model statistics and error review. Its tables keep their annotation_* names."""
