/**
 * {@code inkwell prepare-dataset}: ControlNet training pairs (Canny control map, resized image,
 * prompt) made by an Apache Spark job whose executors run Inkwell, one context per JVM.
 * {@link dev.inkwell.spark.PrepareDataset} is the command, {@link dev.inkwell.spark.PrepareDatasetJob}
 * the job for callers with a {@code SparkSession} of their own.
 */
package dev.inkwell.spark;
