// Image names become the LXD alias `runnerd/NAME` and part of builder instance names.
export const IMAGE_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;
