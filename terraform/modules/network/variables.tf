variable "name" {
  description = "Name prefix for the network's resources (for example spendlens)."
  type        = string
}

variable "cidr_block" {
  description = "IPv4 CIDR of the VPC; /16 to /20 (each subnet is a sixteenth of it)."
  type        = string
  default     = "10.40.0.0/16"
  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(split("/", var.cidr_block)[1]) >= 16 && tonumber(split("/", var.cidr_block)[1]) <= 20
    error_message = "cidr_block must be a valid IPv4 CIDR between /16 and /20."
  }
}

variable "availability_zones" {
  description = "Availability zones to spread the subnets over (at least two: the ALB and Multi-AZ RDS need them)."
  type        = list(string)
  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 8 && length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "availability_zones must list between 2 and 8 distinct zones."
  }
}

variable "nat_gateway_mode" {
  description = "\"single\": one NAT gateway shared by every private subnet (cheaper); \"per_az\": one per AZ, so losing an AZ never cuts the others' egress."
  type        = string
  default     = "single"
  validation {
    condition     = contains(["single", "per_az"], var.nat_gateway_mode)
    error_message = "nat_gateway_mode must be \"single\" or \"per_az\"."
  }
}

variable "flow_log_traffic_type" {
  description = "Which traffic the VPC flow logs record: ACCEPT, REJECT or ALL."
  type        = string
  default     = "ALL"
  validation {
    condition     = contains(["ACCEPT", "REJECT", "ALL"], var.flow_log_traffic_type)
    error_message = "flow_log_traffic_type must be ACCEPT, REJECT or ALL."
  }
}

variable "flow_log_retention_days" {
  description = "Days CloudWatch keeps the flow logs."
  type        = number
  default     = 30
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a retention period CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the flow log group (its policy must allow CloudWatch Logs)."
  type        = string
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
