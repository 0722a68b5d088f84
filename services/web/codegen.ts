// TypeScript types and typed documents from the gateway's schema (schema.graphql,
// written by `make web-schema`) and this app's operations (src/**/*.graphql).
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
	schema: 'schema.graphql',
	documents: ['src/**/*.graphql'],
	errorsOnly: true,
	generates: {
		'src/lib/graphql/generated.ts': {
			plugins: ['typescript-operations', 'typed-document-node'],
			config: {
				// Documents as strings: no GraphQL parser or printer in the bundle.
				documentMode: 'string',
				enumsAsTypes: true,
				onlyOperationTypes: true,
				useTypeImports: true,
				strictScalars: true,
				scalars: {
					ArgoWorkflow: 'unknown',
					ArgoWorkflowTemplate: 'unknown',
					DateTime: 'string',
					JSON: 'unknown',
					PrometheusStringNumber: 'string',
					TimeStamp: 'number',
					SeriesTable: 'Record<string, { timestamps: number[]; values: string[] }>'
				}
			}
		}
	}
};

export default config;
