"""`make demo`: the whole pipeline on the photos bundled in demo/images/, then the site."""
