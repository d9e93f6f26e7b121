// TypeBox schemas of dispute cases (SP-18 … SP-20), shared by the client and admin routes.
import { Type } from '@sinclair/typebox';
import { Uuid } from './payments.schema.js';

export const DisputeReason = Type.Union([Type.Literal('unauthorized'), Type.Literal('lost_card'), Type.Literal('3ds_bypassed')]);

export const OpenDisputeBody = Type.Object({ paymentId: Uuid, reason: DisputeReason }, { additionalProperties: false });

const Amount = Type.Object({ value: Type.Integer(), currency: Type.String() });

export const RefundView = Type.Object({
  id: Type.String(),
  paymentId: Type.String(),
  amount: Amount,
  status: Type.String(),
});

export const DisputeView = Type.Object({
  id: Type.String(),
  clientId: Type.String(),
  paymentId: Type.String(),
  reason: Type.String(),
  status: Type.String(),
  outcome: Type.Union([Type.String(), Type.Null()]),
  threeDS: Type.Union([Type.Object({ enrolled: Type.Boolean(), result: Type.Union([Type.String(), Type.Null()]) }), Type.Null()]),
  createdAt: Type.String(),
  resolvedAt: Type.Union([Type.String(), Type.Null()]),
  resolvedBy: Type.Union([Type.String(), Type.Null()]),
});

export const OpenedDispute = Type.Composite([DisputeView, Type.Object({ refund: Type.Union([RefundView, Type.Null()]) })], { title: 'Dispute' });

export const NoteView = Type.Object({ id: Type.String(), author: Type.String(), text: Type.String(), createdAt: Type.String() });

export const CaseFile = Type.Composite([DisputeView, Type.Object({
  notes: Type.Array(NoteView),
  refunds: Type.Array(Type.Object({
    id: Type.String(), amount: Amount, status: Type.String(), requestedBy: Type.String(),
    disputeId: Type.Union([Type.String(), Type.Null()]), createdAt: Type.String(),
  })),
  auditExport: Type.String(),
})]);
