// Uploads straight to S3 with presigned URLs, with progress: one PUT for a
// small file; above MULTIPART_FROM, S3's multipart upload through the
// gateway's mutations (parts PUT one after another, given up on failure).
import { request } from '$lib/api';
import {
	AbortMultipartDocument,
	CompleteMultipartDocument,
	PartUrlsDocument,
	StartMultipartDocument,
	UploadUrlDocument
} from '$lib/graphql/generated';

const MIB = 1024 * 1024;
// S3's smallest part is 5 MiB (all but the last).
export const PART_SIZE = 8 * MIB;
export const MULTIPART_FROM = 2 * PART_SIZE;
// Part URLs asked for at once (the gateway gives at most 1000).
const URL_BATCH = 100;

export interface PartRange {
	partNumber: number;
	start: number;
	end: number;
}

/** The parts of a file of `size` bytes: all `partSize` but the last. */
export function partRanges(size: number, partSize = PART_SIZE): PartRange[] {
	const parts: PartRange[] = [];
	for (let start = 0, n = 1; start < size || n === 1; start += partSize, n++) {
		parts.push({ partNumber: n, start, end: Math.min(size, start + partSize) });
		if (size === 0) break;
	}
	return parts;
}

/** PUT `body` to a presigned URL; the ETag S3 answered (multipart needs it). */
export function putWithProgress(
	url: string,
	body: Blob,
	progress: (sent: number) => void,
	signal?: AbortSignal
): Promise<string> {
	return new Promise((resolve, reject) => {
		const xhr = new XMLHttpRequest();
		xhr.open('PUT', url);
		xhr.upload.onprogress = (event) => progress(event.loaded);
		xhr.onload = () => {
			if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.getResponseHeader('ETag') ?? '');
			else reject(new Error(`the storage refused the upload (HTTP ${xhr.status})`));
		};
		xhr.onerror = () => reject(new Error('the storage could not be reached (network or CORS)'));
		xhr.onabort = () => reject(new Error('the upload was cancelled'));
		signal?.addEventListener('abort', () => xhr.abort());
		xhr.send(body);
	});
}

export async function uploadFile(
	file: Blob,
	bucketName: string,
	key: string,
	progress: (sent: number) => void,
	signal?: AbortSignal
): Promise<void> {
	if (file.size < MULTIPART_FROM) {
		const url = (await request(UploadUrlDocument, { bucketName, key })).computeUploadPresignedUrl;
		await putWithProgress(url, file, progress, signal);
		return;
	}
	const started = (await request(StartMultipartDocument, { bucketName, key, contentType: null }))
		.createMultipartUpload;
	const where = { bucketName: started.bucketName, key: started.key, uploadId: started.uploadId };
	try {
		const parts = partRanges(file.size);
		const done: { partNumber: number; etag: string }[] = [];
		for (let i = 0; i < parts.length; i += URL_BATCH) {
			const batch = parts.slice(i, i + URL_BATCH);
			const urls = (
				await request(PartUrlsDocument, { ...where, partNumbers: batch.map((p) => p.partNumber) })
			).uploadPartUrls;
			for (const part of batch) {
				const url = urls.find((u) => u.partNumber === part.partNumber)?.url;
				if (!url) throw new Error(`the gateway gave no URL for part ${part.partNumber}`);
				const etag = await putWithProgress(
					url,
					file.slice(part.start, part.end),
					(sent) => progress(part.start + sent),
					signal
				);
				if (!etag) throw new Error('the storage did not say the ETag of a part (CORS ExposeHeaders)');
				done.push({ partNumber: part.partNumber, etag });
			}
		}
		await request(CompleteMultipartDocument, { ...where, parts: done });
	} catch (failure) {
		// Parts already sent would otherwise stay, unseen, in the bucket.
		await request(AbortMultipartDocument, where).catch(() => undefined);
		throw failure;
	}
}
