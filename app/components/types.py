"""The built-in component types of the karma world (keys from its real configs)."""

from __future__ import annotations

from marshmallow import Schema, fields

from app.components.fields import (
    AnyJson, Bool, Cidr, Int, Nickname, NicknameList, OneOf, Str, StrList, Tags,
)
from app.components.registry import ComponentType, Reference, registry


def _schema(name: str, spec: dict) -> type[Schema]:
    return Schema.from_dict(spec, name=name)


def declare(name, description, action, config, runtime, references=()):
    registry.register(ComponentType(
        name=name,
        description=description,
        action=action,
        config_schema=_schema(f"{name}-config", config),
        runtime_schema=_schema(f"{name}-runtime", runtime),
        references=tuple(references),
    ))


class LambdaFunction(Schema):
    runtime = Str(required=True)
    handler = Str(required=True)
    memory_size = Int(minimum=128, maximum=10240)
    timeout = Int(minimum=1, maximum=900)
    environment = Tags()


declare("vpc", "An AWS VPC with public/private subnets per AZ", "reapply",
        {"cidr": Cidr(required=True), "az_count": Int(minimum=1, maximum=6),
         "enable_ssm_endpoints": Bool(), "single_nat_gateway": Bool(), "tags": Tags()},
        {"vpc_id": Str(), "vpc_cidr": Str(), "public_subnet_ids": StrList(),
         "private_subnet_ids": StrList(), "default_sg_id": Str(), "has_nat": Bool()})

declare("subnet", "A subnet inside a VPC", "reapply",
        {"vpc_nickname": Nickname(required=True), "cidr_block": Cidr(required=True),
         "availability_zone": Str(), "map_public_ip_on_launch": Bool(), "tags": Tags()},
        {"subnet_id": Str(), "availability_zone": Str(), "cidr_block": Str()},
        [Reference("vpc_nickname", "vpc", "depends_on", reads=("vpc_id",))])

declare("ec2-instance", "An EC2 instance placed in a subnet", "redeploy",
        {"subnet_nickname": Nickname(required=True), "instance_type": Str(required=True),
         "ami": Str(), "key_name": Str(), "tags": Tags()},
        {"instance_id": Str(), "private_ip": Str(),
         "state": OneOf("pending", "running", "stopping", "stopped", "terminated")},
        [Reference("subnet_nickname", "subnet", "depends_on", reads=("subnet_id",))])

declare("s3-bucket", "An S3 bucket", "reapply",
        {"bucket_name": Str(required=True), "versioning": Bool(), "force_destroy": Bool(),
         "enable_encryption": Bool(), "sse_algorithm": OneOf("AES256", "aws:kms"),
         "block_public_access": Bool(), "tags": Tags()},
        {"bucket_name": Str(), "bucket_arn": Str()})

declare("lambda", "A set of Lambda functions deployed together", "redeploy",
        {"functions": fields.Dict(keys=Str(), values=fields.Nested(LambdaFunction), required=True),
         "vpc_nickname": Nickname(), "openapi_nickname": Nickname(), "s3_bucket_nickname": Nickname()},
        {"function_arns": fields.Dict(keys=Str(), values=Str()), "arn": Str()},
        [Reference("vpc_nickname", "vpc", "depends_on", reads=("private_subnet_ids", "default_sg_id")),
         Reference("openapi_nickname", "openapi", "consumes_runtime_from", reads=("source",)),
         Reference("s3_bucket_nickname", "s3-bucket", "depends_on", reads=("bucket_name",))])

declare("openapi", "An OpenAPI spec published to S3 by a script", "republish",
        {"s3_bucket_nickname": Nickname(), "spec_key": Str(), "title": Str(), "version": Str()},
        {"source": Str()},
        [Reference("s3_bucket_nickname", "s3-bucket", "depends_on", reads=("bucket_name",))])

declare("serverless-api", "An API Gateway stage built from an OpenAPI spec", "redeploy",
        {"api_name": Str(required=True), "stage_name": Str(), "openapi_nickname": Nickname(),
         "lambda_nicknames": NicknameList(), "enable_custom_domain": Bool(), "domain_name": Str(),
         "route53_zone_name": Str(), "route53_zone_nickname": Nickname()},
        {"api_id": Str(), "api_endpoint": Str(), "stage_name": Str(), "custom_domain": Str()},
        [Reference("openapi_nickname", "openapi", "consumes_runtime_from", reads=("source",)),
         Reference("lambda_nicknames", "lambda", "consumes_runtime_from", reads=("function_arns",), many=True),
         Reference("route53_zone_nickname", "route53-zone", "depends_on", reads=("zone_id",))])

declare("serverless-site", "A static site: S3 content, a CloudFront distribution, DNS aliases", "redeploy",
        {"site_name": Str(required=True), "content_bucket_prefix": Str(), "cloudfront_comment": Str(),
         "index_document": Str(), "error_document": Str(), "enable_custom_domain": Bool(),
         "domain_aliases": StrList(), "aliases": StrList(), "cloudfront_aliases": StrList(),
         "route53_zone_name": Str(), "route53_zone_nickname": Nickname(),
         "cloudfront_distribution_nickname": Nickname()},
        {"content_bucket_prefix": Str(), "cloudfront_distribution_id": Str(),
         "cloudfront_distribution_domain": Str(), "custom_domain": Str()},
        # The site's config feeds its distribution (aliases) and its zone (alias records).
        [Reference("cloudfront_distribution_nickname", "cloudfront-distribution", "emits_runtime_to"),
         Reference("route53_zone_nickname", "route53-zone", "emits_runtime_to")])

declare("cloudfront-distribution", "A CloudFront distribution in front of a site", "redeploy",
        {"comment": Str(), "price_class": OneOf("PriceClass_100", "PriceClass_200", "PriceClass_All"),
         "default_root_object": Str(), "http_version": Str(), "tags": Tags()},
        {"distribution_id": Str(), "domain_name": Str(), "arn": Str()})

declare("route53-zone", "A Route 53 hosted zone", "reload",
        {"zone_name": Str(required=True), "comment": Str(), "root_records": AnyJson(), "tags": Tags(),
         "alias_distribution_nicknames": NicknameList()},
        {"zone_id": Str(), "zone_arn": Str(), "name_servers": StrList()},
        # Alias records point at distributions' domain names.
        [Reference("alias_distribution_nicknames", "cloudfront-distribution", "consumes_runtime_from",
                   reads=("domain_name",), many=True)])

declare("ecs-cluster", "An ECS cluster", "reapply",
        {"cluster_name": Str(required=True), "vpc_nickname": Nickname(required=True),
         "capacity_providers": fields.List(OneOf("FARGATE", "FARGATE_SPOT", "EC2")),
         "container_insights": Bool()},
        {"cluster_arn": Str(), "cluster_name": Str()},
        [Reference("vpc_nickname", "vpc", "depends_on", reads=("private_subnet_ids",))])

declare("ecs-service", "A service running on an ECS cluster", "redeploy",
        {"service_name": Str(required=True), "ecs_cluster_nickname": Nickname(required=True),
         "vpc_nickname": Nickname(required=True), "image": Str(), "desired_count": Int(minimum=0)},
        {"service_arn": Str(), "running_count": Int(minimum=0)},
        # Real quirk: the service reads default_security_group_id, the VPC publishes default_sg_id.
        [Reference("ecs_cluster_nickname", "ecs-cluster", "depends_on", reads=("cluster_arn",)),
         Reference("vpc_nickname", "vpc", "consumes_runtime_from",
                   reads=("private_subnet_ids", "default_security_group_id"))])

declare("clickhouse", "ClickHouse on EC2 hosts", "rolling-restart",
        {"vpc_nickname": Nickname(required=True), "s3_bucket_nickname": Nickname(),
         "ecs_cluster_nickname": Nickname(), "instance_type": Str(required=True),
         "ebs_size_gb": Int(minimum=8), "http_port": Int(minimum=1, maximum=65535),
         "tcp_port": Int(minimum=1, maximum=65535)},
        {"instance_id": Str(), "private_ip": Str(), "security_group_id": Str(), "subnet_id": Str(),
         "vpc_id": Str()},
        [Reference("vpc_nickname", "vpc", "depends_on", reads=("vpc_id", "private_subnet_ids")),
         Reference("s3_bucket_nickname", "s3-bucket", "depends_on", reads=("bucket_name",)),
         Reference("ecs_cluster_nickname", "ecs-cluster", "depends_on", reads=("cluster_arn",))])

declare("cognito-sso", "A Cognito user pool with a hosted UI", "reapply",
        {"callback_hosts": StrList(required=True), "user_pool_name": Str(required=True),
         "client_name": Str(), "domain_prefix": Str()},
        {"user_pool_id": Str(), "client_id": Str(), "hosted_ui_base_url": Str()})
