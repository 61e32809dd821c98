# Classifiers on embeddings (lclip_classifier): zero-shot prompt ensembles,
# linear probes, their file format. Above the encoders: only their public calls.
list(APPEND LIBCLIP_SOURCES
  classify/classifier.c
  classify/classifier_file.c
  classify/probe.c
  classify/templates.c
  classify/zeroshot.c
)
