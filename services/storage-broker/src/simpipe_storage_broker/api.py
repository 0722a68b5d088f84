"""The StorageBroker gRPC service: requests in, storage calls, typed errors out."""

from dataclasses import dataclass

from simpipe.v1 import storage_broker_pb2 as pb
from simpipe.v1 import storage_broker_pb2_grpc
from simpipe_common.errors import Context, typed_errors
from simpipe_storage_broker.project_credentials import ProjectCredentials
from simpipe_storage_broker.storage import Storage
from simpipe_storage_broker.validation import caller


@dataclass
class StorageBrokerApi(storage_broker_pb2_grpc.StorageBrokerServicer):
    storage: Storage
    project_credentials: ProjectCredentials

    # Buckets
    @typed_errors
    async def ListBuckets(
        self, request: pb.ListBucketsRequest, context: Context
    ) -> pb.ListBucketsResponse:
        return pb.ListBucketsResponse(
            buckets=await self.storage.list_buckets(caller(request.caller))
        )

    @typed_errors
    async def CreateBucket(self, request: pb.BucketRef, context: Context) -> pb.Bucket:
        return await self.storage.create_bucket(caller(request.caller), request.bucket)

    @typed_errors
    async def DeleteBucket(
        self, request: pb.DeleteBucketRequest, context: Context
    ) -> pb.DeleteBucketResponse:
        await self.storage.delete_bucket(caller(request.caller), request.bucket, request.force)
        return pb.DeleteBucketResponse(deleted=True)

    # Objects
    @typed_errors
    async def ListObjects(
        self, request: pb.ListObjectsRequest, context: Context
    ) -> pb.ListObjectsResponse:
        caller(request.caller)
        return await self.storage.list_objects(request)

    @typed_errors
    async def StatObject(self, request: pb.ObjectRef, context: Context) -> pb.ObjectInfo:
        caller(request.caller)
        return await self.storage.stat_object(request)

    @typed_errors
    async def DeleteObjects(
        self, request: pb.DeleteObjectsRequest, context: Context
    ) -> pb.DeleteObjectsResponse:
        return await self.storage.delete_objects(
            caller(request.caller), request.bucket, request.keys
        )

    # Presigned URLs
    @typed_errors
    async def PresignPut(self, request: pb.PresignRequest, context: Context) -> pb.PresignedUrl:
        caller(request.caller)
        return await self.storage.presign_put(request)

    @typed_errors
    async def PresignGet(self, request: pb.PresignRequest, context: Context) -> pb.PresignedUrl:
        caller(request.caller)
        return await self.storage.presign_get(request)

    # Multipart uploads
    @typed_errors
    async def CreateMultipartUpload(
        self, request: pb.CreateMultipartUploadRequest, context: Context
    ) -> pb.MultipartUpload:
        caller(request.caller)
        return await self.storage.create_multipart_upload(request)

    @typed_errors
    async def PresignUploadPart(
        self, request: pb.PresignUploadPartRequest, context: Context
    ) -> pb.PresignedUrl:
        caller(request.caller)
        return await self.storage.presign_upload_part(request)

    @typed_errors
    async def CompleteMultipartUpload(
        self, request: pb.CompleteMultipartUploadRequest, context: Context
    ) -> pb.ObjectInfo:
        caller(request.caller)
        return await self.storage.complete_multipart_upload(request)

    @typed_errors
    async def AbortMultipartUpload(
        self, request: pb.MultipartUploadRef, context: Context
    ) -> pb.AbortMultipartUploadResponse:
        caller(request.caller)
        await self.storage.abort_multipart_upload(request)
        return pb.AbortMultipartUploadResponse(aborted=True)

    # Project credentials (the workflow-submitter's)
    @typed_errors
    async def IssueProjectCredentials(
        self, request: pb.ProjectCredentialsRequest, context: Context
    ) -> pb.ProjectCredentials:
        return await self.project_credentials.issue(request.caller, request.project_id)

    @typed_errors
    async def RevokeProjectCredentials(
        self, request: pb.ProjectCredentialsRequest, context: Context
    ) -> pb.RevokeProjectCredentialsResponse:
        await self.project_credentials.revoke(request.caller, request.project_id)
        return pb.RevokeProjectCredentialsResponse(revoked=True)
