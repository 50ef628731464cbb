<?xml version="1.0" encoding="utf-8"?>
<!--
  ConnectWise agreement invoices and credit memos (GET /finance/invoices, a kind declared in
  pipelines.yaml) → Sage 50 UK sales invoices and credits on the audit trail, Zynk schema:
  Company/Customers/Customer (one per company) and Company/Transactions/Transaction (one
  SalesInvoice or SalesCredit split per resolved line).

  * Each invoice arrives resolved (<resolved>): its type (SI, or SC for a credit memo), the
    customer A/C (the invoice's account number), reference, currency and lines with nominal,
    Sage tax code, net and the VAT ConnectWise states — which Sage takes as given on the
    audit trail, so the document holds exactly ConnectWise's money.
  * SecondReference is the document's key (CW-AGR-<invoice id>); a split's Id is its line's
    id, here the invoice id.
  * The customer's Id is CW-CO-<company id>, as the customers and invoices pipelines give it.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:import href="_common.xsl"/>
  <xsl:output method="xml" encoding="utf-8" indent="yes"/>

  <xsl:key name="doc-by-company" match="/cwsage/export/records/item" use="company/id"/>

  <xsl:template match="/cwsage">
    <Company>
      <Customers>
        <xsl:apply-templates mode="customer" select="export/records/item[generate-id() = generate-id(key('doc-by-company', company/id)[1])]"/>
      </Customers>
      <Transactions>
        <xsl:apply-templates select="export/records/item/resolved/lines/item"/>
      </Transactions>
    </Company>
  </xsl:template>

  <!-- The first invoice of a company in the chunk → its Sage customer -->
  <xsl:template match="records/item" mode="customer">
    <Customer>
      <Id><xsl:value-of select="concat('CW-CO-', company/id)"/></Id>
      <AccountReference><xsl:value-of select="resolved/account"/></AccountReference>
      <CompanyName><xsl:call-template name="text"><xsl:with-param name="value" select="company/name"/></xsl:call-template></CompanyName>
      <CustomerInvoiceAddress>
        <Address1><xsl:call-template name="text"><xsl:with-param name="value" select="billingSiteAddressLine1"/></xsl:call-template></Address1>
        <Address2><xsl:call-template name="text"><xsl:with-param name="value" select="billingSiteAddressLine2"/></xsl:call-template></Address2>
        <Town><xsl:call-template name="text"><xsl:with-param name="value" select="billingSiteCity"/></xsl:call-template></Town>
        <County><xsl:call-template name="text"><xsl:with-param name="value" select="billingSiteState"/></xsl:call-template></County>
        <Postcode><xsl:call-template name="text"><xsl:with-param name="value" select="billingSiteZip"/></xsl:call-template></Postcode>
        <Country>GB</Country>
      </CustomerInvoiceAddress>
      <Currency><xsl:value-of select="resolved/currency"/></Currency>
    </Customer>
  </xsl:template>

  <!-- A resolved line → one split of the document's sales invoice or credit -->
  <xsl:template match="resolved/lines/item">
    <xsl:variable name="doc" select="../.."/>
    <Transaction>
      <Id><xsl:value-of select="split_id"/></Id>
      <TransactionType>
        <xsl:choose>
          <xsl:when test="$doc/type = 'SC'">SalesCredit</xsl:when>
          <xsl:otherwise>SalesInvoice</xsl:otherwise>
        </xsl:choose>
      </TransactionType>
      <AccountReference><xsl:value-of select="$doc/account"/></AccountReference>
      <TransactionDate><xsl:call-template name="date"><xsl:with-param name="value" select="$doc/date"/></xsl:call-template></TransactionDate>
      <xsl:if test="normalize-space($doc/due_date) != ''"><DueDate><xsl:call-template name="date"><xsl:with-param name="value" select="$doc/due_date"/></xsl:call-template></DueDate></xsl:if>
      <Reference><xsl:value-of select="$doc/reference"/></Reference>
      <SecondReference><xsl:value-of select="$doc/../@key"/></SecondReference>
      <NominalCode><xsl:value-of select="nominal"/></NominalCode>
      <Details><xsl:call-template name="text"><xsl:with-param name="value" select="name"/></xsl:call-template></Details>
      <NetAmount><xsl:value-of select="net"/></NetAmount>
      <TaxCode><xsl:value-of select="tax_code"/></TaxCode>
      <TaxAmount><xsl:value-of select="tax"/></TaxAmount>
      <Currency><xsl:value-of select="$doc/currency"/></Currency>
      <xsl:if test="normalize-space($doc/exchange_rate) != ''"><ExchangeRate><xsl:value-of select="$doc/exchange_rate"/></ExchangeRate></xsl:if>
    </Transaction>
  </xsl:template>

</xsl:stylesheet>
