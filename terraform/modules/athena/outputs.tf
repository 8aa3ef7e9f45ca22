output "workgroup_name" {
  description = "Name of the workgroup: the WORKGROUP of import_billing athena://WORKGROUP/DATABASE.TABLE?period=YYYY-MM."
  value       = aws_athena_workgroup.imports.name
}

output "workgroup_arn" {
  description = "ARN of the workgroup."
  value       = aws_athena_workgroup.imports.arn
}

output "results_bucket_name" {
  description = "Bucket holding the query results."
  value       = aws_s3_bucket.results.bucket
}
