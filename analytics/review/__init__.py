"""The label-correction loop: decision browser, review queue, reviewed labels, live quality."""
