output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "CIDR of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Public subnets (ALB, NAT gateways), one per AZ."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnets (ECS tasks, RDS), one per AZ."
  value       = aws_subnet.private[*].id
}

output "nat_public_ips" {
  description = "Egress IPs of the NAT gateway(s): the address customers' AWS accounts see Spendlens call from."
  value       = aws_eip.nat[*].public_ip
}
