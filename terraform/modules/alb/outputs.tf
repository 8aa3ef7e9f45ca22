output "dns_name" {
  description = "DNS name of the load balancer: point the site's CNAME (or Route 53 alias) here."
  value       = aws_lb.this.dns_name
}

output "zone_id" {
  description = "Hosted zone of the load balancer (for a Route 53 alias record)."
  value       = aws_lb.this.zone_id
}

output "arn_suffix" {
  description = "ARN suffix of the load balancer (CloudWatch dimension, request-count scaling)."
  value       = aws_lb.this.arn_suffix
}

output "target_group_arn" {
  description = "Target group the web service registers its tasks in."
  value       = aws_lb_target_group.web.arn
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the target group (request-count scaling)."
  value       = aws_lb_target_group.web.arn_suffix
}

output "security_group_id" {
  description = "Security group of the load balancer (the web tasks admit traffic from it only)."
  value       = aws_security_group.alb.id
}

output "https_listener_arn" {
  description = "ARN of the HTTPS listener."
  value       = aws_lb_listener.https.arn
}

output "access_log_bucket" {
  description = "S3 bucket holding the access logs."
  value       = aws_s3_bucket.logs.id
}
