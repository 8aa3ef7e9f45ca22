output "address" {
  description = "Host name of the database (for DATABASE_URL)."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the database."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Name of the application database."
  value       = aws_db_instance.this.db_name
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret (RDS-managed, rotated) holding the master user's credentials."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "security_group_id" {
  description = "Security group of the database."
  value       = aws_security_group.db.id
}

output "instance_identifier" {
  description = "Identifier of the DB instance."
  value       = aws_db_instance.this.identifier
}
